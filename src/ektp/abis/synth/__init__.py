"""abis/synth"""
