"""What PIE writes into CSV files that people open in a spreadsheet."""

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """The cell, with a leading ' if a spreadsheet would run it as a formula (OWASP)."""
    return f"'{cell}" if cell.startswith(FORMULA_TRIGGERS) else cell
