"""Domain errors raised by the intents services; the API maps them to 400 responses."""


class IntentError(Exception):
    """Base class: the intent could not be recorded, for a reason the caller can fix."""


class UnknownReasonError(IntentError):
    def __init__(self, code: str, known_codes: list[str]):
        self.code = code
        self.known_codes = known_codes
        super().__init__(
            f"Unknown reason {code!r}. Known reasons: {', '.join(known_codes) or 'none'}."
        )


class DuplicateIntentError(IntentError):
    def __init__(self):
        super().__init__(
            "An identical intent (same learner, program, reason, certainty and effective "
            "timestamp) is already recorded."
        )


class RetiredLearnerError(IntentError):
    """The learner was retired (Open edX account deletion): PIE records nothing for them."""

    def __init__(self, lms_user_id: int):
        self.lms_user_id = lms_user_id
        super().__init__(
            f"LMS user {lms_user_id} has been retired: PIE records no intents for them."
        )
