"""Building components: the content-addressed cache and the compile worker."""
