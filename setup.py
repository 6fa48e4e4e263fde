"""Only what pyproject.toml cannot say: static/ (top level in the checkout) ships as pi_dashboard.static."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["pi_dashboard", "pi_dashboard.*"]), "pi_dashboard.static"],
    package_dir={"pi_dashboard.static": "static"},
)
