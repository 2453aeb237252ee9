"""The web console's users: sign-in through the Cognito user pool (``users``), sessions (``sessions``) and
each user's role per workspace (``members``)."""
