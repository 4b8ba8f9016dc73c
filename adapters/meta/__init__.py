"""Meta channels (Messenger, Instagram, WhatsApp Cloud API) sharing one webhook core."""
