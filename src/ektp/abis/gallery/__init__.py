"""abis/gallery"""
