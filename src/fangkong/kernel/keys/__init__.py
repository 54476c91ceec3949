"""Key rotation (密钥轮换): the field-encryption key ring, and re-encrypting every encrypted column."""
