"""abis/formats"""
