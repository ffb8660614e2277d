"""What a scalphost installation proves about itself before it trades.

Today: the hypothesis profiles and the pytest plugin that chooses between them. The conformance
suite that runs against a user's enabled plugins grows here in issue 6.
"""
