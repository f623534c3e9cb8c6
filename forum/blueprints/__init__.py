"""HTML and JSON front ends: thin views over policy and services."""
