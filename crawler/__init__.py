"""newsarchive's Scrapy project: the news spider, its middlewares and pipelines, and the CLI."""
