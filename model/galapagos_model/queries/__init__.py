"""Query modules, one per aggregate. Every query of the product lives here: built with the
ORM, or for the few reads on every request's path, written as SQL (see ``statements``)."""
