"""Scrapy extensions of newsarchive: components that watch a crawl through its signals."""
