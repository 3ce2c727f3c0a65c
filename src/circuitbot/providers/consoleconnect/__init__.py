"""Console Connect (PCCW Global): Azure Direct Connect Partner layer-2 connections and their
peering configs, as a buyer orders them. ``spec.SPEC`` joins it to the bot."""
