"""Query modules, one per aggregate. Every ORM query of the product lives here."""
