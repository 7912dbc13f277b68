"""The PhotoPrism adapter: staged uploads, batched imports, values set through the REST API."""
