"""Channel adapters: the EmailPort, SmsPort, PushPort and WebhookPort implementations (SES v2, SMTP, SNS,
Pinpoint push, signed HTTP webhooks), one small module each, sharing one backoff helper."""
