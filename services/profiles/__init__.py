"""Profiles: the retiree archive (退休人员档案), the only holder of personal data."""
