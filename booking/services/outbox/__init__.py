"""E-mail: messages queued in the cause's transaction, then composed and sent by the mailer."""
