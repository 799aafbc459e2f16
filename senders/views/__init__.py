"""The WhatsApp settings pages, one module per topic."""
