"""Alibaba Cloud Express Connect: physical connections (VPC API 2016-04-28)."""
