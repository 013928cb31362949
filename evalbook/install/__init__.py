"""Putting evalbook on an office PC: the offline install folder (`evalbook bundle`) and the set-up
check (`evalbook doctor`).  Entry-point level: it may use every layer, and none uses it."""
