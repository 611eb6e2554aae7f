"""The clinic kernel: who is asking (`Principal`), for which clinic, with which rights.

Every app's views stand on it: `clinic_view` here, `patient_view` in `patients.access`.
"""
