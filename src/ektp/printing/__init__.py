"""Printing (pencetakan): the print queue, printing on traceable blanks, spoilage, the card
lifecycle and the card PDF."""
