"""Vulnerability scanning with Amazon Inspector: what a ScanSchedule covers, enables, sweeps and reports."""
