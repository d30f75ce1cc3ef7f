"""Adjudication workbench (examiners decide ADJUDICATE_RECORD recordings) and duplicate cases."""
