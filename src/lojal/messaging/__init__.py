"""Messages to members: email over SMTP (DKIM-signed, RFC 8058 one-click unsubscribe), SMS
and push through HTTP providers, and the in-app inbox; consent checked at send time, sending
slowed down by a provider's throttling, delivery status per message."""
