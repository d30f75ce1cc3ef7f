"""abis/match"""
