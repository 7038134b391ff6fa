"""The learner's Japanese text, one catalogue module per area (plain constants and format strings)."""
