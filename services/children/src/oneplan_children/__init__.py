"""OnePlan children service: the child's record and the family's story, told once."""
