"""The public web-chat API used by widget.js on a business's website."""
