Attribute VB_Name = "Buttons"
Option Explicit

' xlexec operator buttons. SOURCE OF TRUTH: macros/Buttons.bas in git.
' Each Sub is wired to a form button on the Control tab and calls one function
' of xlexec.excel.buttons through xlwings' RunPython (module xlwings, or the add-in).
' The Python side reads the workbook via xw.Book.caller(), writes whole ranges back,
' and shows any error in one message box. Edit here, then run `xlexec workbook build`
' (or `xlwings vba import` inside Excel, see workbook/README.md).

' Load the day's trades.csv into the Blotter
Public Sub LoadTrades_Click()
    RunPython "import xlexec.excel.buttons as b; b.load_trades()"
End Sub

' Run the pre-trade checks
Public Sub Validate_Click()
    RunPython "import xlexec.excel.buttons as b; b.validate()"
End Sub

' Record an approval bound to the exact orders
Public Sub Approve_Click()
    RunPython "import xlexec.excel.buttons as b; b.approve()"
End Sub

' Record a rejection
Public Sub Reject_Click()
    RunPython "import xlexec.excel.buttons as b; b.reject()"
End Sub

' Write the broker upload file
Public Sub Convert_Click()
    RunPython "import xlexec.excel.buttons as b; b.convert()"
End Sub

' Send the approved orders to the broker
Public Sub Submit_Click()
    RunPython "import xlexec.excel.buttons as b; b.submit()"
End Sub

' Refresh order status from the broker
Public Sub RefreshStatus_Click()
    RunPython "import xlexec.excel.buttons as b; b.refresh_status()"
End Sub

' Kill switch: cancel every open order
Public Sub CancelAll_Click()
    RunPython "import xlexec.excel.buttons as b; b.cancel_all()"
End Sub

' Import the fills pasted on the Fills tab (or from the broker)
Public Sub ImportFills_Click()
    RunPython "import xlexec.excel.buttons as b; b.import_fills()"
End Sub

' Reconcile fills and positions
Public Sub Reconcile_Click()
    RunPython "import xlexec.excel.buttons as b; b.reconcile()"
End Sub

' Accept the reconciled positions
Public Sub AcceptPositions_Click()
    RunPython "import xlexec.excel.buttons as b; b.accept_positions()"
End Sub

' Transaction cost analysis
Public Sub Tca_Click()
    RunPython "import xlexec.excel.buttons as b; b.tca()"
End Sub

' Monthly cost report
Public Sub MonthlyReport_Click()
    RunPython "import xlexec.excel.buttons as b; b.monthly_report()"
End Sub
