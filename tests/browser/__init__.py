# A package, so that its conftest imports as browser.conftest and never takes
# the place of tests/conftest.py: both would otherwise be the module "conftest".
