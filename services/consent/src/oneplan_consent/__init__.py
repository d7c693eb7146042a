"""oneplan_consent."""
