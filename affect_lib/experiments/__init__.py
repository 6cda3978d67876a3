"""Multi-run studies, one module per chapter that needs many trained models or many
draws."""
