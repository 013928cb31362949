Attribute VB_Name = "Ribbon"
' Callbacks of the ribbon tab in customUI/customUI14.xml.
'
' Every button hands over to Python through xlwings' RunPython (the standalone xlwings module
' embedded in this project). The Python side finds this workbook with xw.Book.caller(), so
' nothing is passed from here and no workbook text is ever spliced into the command.
Option Explicit

Public Sub OnScore(control As IRibbonControl)
    RunPython "import evalbook.button; evalbook.button.score()"
End Sub

Public Sub OnClear(control As IRibbonControl)
    RunPython "import evalbook.button; evalbook.button.clear()"
End Sub

Public Sub OnAddFund(control As IRibbonControl)
    RunPython "import evalbook.button; evalbook.button.add_fund()"
End Sub

Public Sub OnHelp(control As IRibbonControl)
    RunPython "import evalbook.button; evalbook.button.show_help()"
End Sub
