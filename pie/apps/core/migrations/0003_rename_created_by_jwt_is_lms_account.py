from django.db import migrations, models


class Migration(migrations.Migration):
    """
    ``created_by_jwt`` became ``is_lms_account``: a sign-in through the LMS creates the LMS's
    accounts too, not only a JWT. A rename: every row keeps its value.
    """

    dependencies = [
        ("core", "0002_jwt_accounts_and_retired_learners"),
    ]

    operations = [
        migrations.RenameField(
            model_name="user",
            old_name="created_by_jwt",
            new_name="is_lms_account",
        ),
        migrations.AlterField(
            model_name="user",
            name="is_lms_account",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text=(
                    "The LMS's account, created by its JWT or a sign-in through the LMS. "
                    "Local accounts never bind to either."
                ),
                verbose_name="LMS account",
            ),
        ),
    ]
