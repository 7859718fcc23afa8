"""Distribution on the Hub: the custom_generate folder for stock transformers."""
