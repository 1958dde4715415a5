"""What the Meta Cloud API and Twilio bridges share: media limits, notes, body rendering."""
