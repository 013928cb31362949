Attribute VB_Name = "Startup"
' Starts xlwings' Python COM server just after the workbook has opened, so the first function
' (UDF) recalculation does not wait for Python to start (xlwings #1169: otherwise the server
' starts on the first UDF call).
'
' Only when a Python is configured: the interpreter xlwings would use (its xlwings.conf sheet,
' the user's xlwings.conf, else "pythonw") is a file that exists, or, for the default "pythonw",
' xlwings' DLL is on PATH, where a python.org install with "Add python.exe to PATH" puts it.
' Otherwise, and on any error at all, nothing happens: a PC without Python sees no message.
Option Explicit

Private pendingAt As Date

Public Sub EvalbookScheduleStart()
    On Error Resume Next
    #If Mac Then
        Exit Sub
    #End If
    ' OnTime runs it once Workbook_Open has returned and the workbook is on screen.
    pendingAt = Now
    Application.OnTime pendingAt, StartMacro()
End Sub

Public Sub EvalbookCancelStart()
    ' A workbook closed before its OnTime has run would be reopened by Excel to run it.
    On Error Resume Next
    If pendingAt <> 0 Then Application.OnTime pendingAt, StartMacro(), , False
    pendingAt = 0
End Sub

Public Sub EvalbookStartPython()
    On Error Resume Next
    pendingAt = 0
    If Not PythonConfigured() Then Exit Sub
    XLPy  ' the same call every UDF makes first: it starts the server, or finds it running
End Sub

Private Function StartMacro() As String
    StartMacro = "'" & Replace(ThisWorkbook.Name, "'", "''") & "'!EvalbookStartPython"
End Function

Private Function PythonConfigured() As Boolean
    Dim interpreter As String
    On Error GoTo none
    If GetConfig("CONDA PATH") <> "" And GetConfig("CONDA ENV") <> "" Then
        PythonConfigured = True
        Exit Function
    End If
    interpreter = GetConfig("INTERPRETER_WIN", "")
    If interpreter = "" Then interpreter = GetConfig("INTERPRETER", "pythonw")
    If InStr(interpreter, "\") > 0 Then
        PythonConfigured = FileExists(interpreter)
    Else
        PythonConfigured = DllOnPath()
    End If
    Exit Function
none:
    PythonConfigured = False
End Function

Private Function DllOnPath() As Boolean
    Dim folder As Variant, dll As String
    #If Win64 Then
        dll = "xlwings64-" & XLWINGS_VERSION & ".dll"
    #Else
        dll = "xlwings32-" & XLWINGS_VERSION & ".dll"
    #End If
    For Each folder In Split(Environ("PATH"), ";")
        If Len(folder) > 0 Then
            If FileExists(folder & "\" & dll) Then
                DllOnPath = True
                Exit Function
            End If
        End If
    Next folder
End Function
