"""One construct per concern. (Not named ``constructs``: that would shadow the CDK's own package.)"""
