"""The kit's learner-facing Japanese text, one catalogue module per area.

A reader of a step sees its logic, a translator sees only these modules. Each entry is a
``str.format`` template whose ``{names}`` the step fills in; nothing here computes anything.
"""
