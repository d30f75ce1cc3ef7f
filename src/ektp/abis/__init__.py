"""abis"""
