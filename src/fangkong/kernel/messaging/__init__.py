"""Messages that leave the platform (外发消息): SMS, pushes and assist requests, through one outbox."""
