Attribute VB_Name = "SelfTest"
Option Explicit

' xlexec self-test: proves the VBA project built from text loads, compiles and runs.
' Writes the marker returned by XlexecUtil.SelfTestMarker into Log!A1 and saves.
Public Sub XlexecSelfTest()
    Dim ws As Worksheet
    Set ws = ThisWorkbook.Worksheets("Log")
    ws.Range("A1").Value = SelfTestMarker()
    ws.Range("A2").Value = "ran " & Format(Now, "yyyy-mm-dd hh:nn:ss")
    ThisWorkbook.Save
End Sub

Private Sub NotAMacro()
End Sub
