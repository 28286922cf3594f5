"""The MS-OVBA / compound-file writer for the workbook's VBA project."""
