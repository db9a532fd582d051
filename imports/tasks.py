from erp.celery import fanout_task
from imports.services import STEP_TIME_LIMIT_S


@fanout_task(name="imports.csv_import_check", soft_time_limit=STEP_TIME_LIMIT_S - 60, time_limit=STEP_TIME_LIMIT_S)
def csv_import_check(self, job_id: int) -> str:
    from imports.services import csv_import_check as check

    return check(job_id=job_id)


@fanout_task(name="imports.csv_import_apply", soft_time_limit=STEP_TIME_LIMIT_S - 60, time_limit=STEP_TIME_LIMIT_S)
def csv_import_apply(self, job_id: int) -> str:
    from imports.services import csv_import_apply as apply

    return apply(job_id=job_id)
