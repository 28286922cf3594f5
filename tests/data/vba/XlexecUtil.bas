Attribute VB_Name = "XlexecUtil"
Option Explicit

' Helper module: a second standard module, called from SelfTest.
Public Function SelfTestMarker() As String
    SelfTestMarker = "XLEXEC_" & "SELFTEST_OK"
End Function

Sub XlexecHello()
    MsgBox "Hello from " & SelfTestMarker()
End Sub
