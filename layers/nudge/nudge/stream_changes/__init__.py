"""Stream changes: a DynamoDB stream record read into a typed change of one of Nudge's tables
(``changes``), and who reacts to it, in order (``consumers``): the evaluate function's domain."""
