# Leaner rows at every step boundary: the step records' status index served no query (they are
# read per run), and the JSON a step boundary writes is kept as text (`JSONText`), which neither
# database parses or checks on write.

from django.db import migrations
import workflows_app.json_columns


class Migration(migrations.Migration):

    dependencies = [
        ('workflows_app', '0005_executor_processes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='steprecord',
            name='steprecord_status_path',
        ),
        migrations.AlterField(
            model_name='event',
            name='payload',
            field=workflows_app.json_columns.JSONText(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='run',
            name='context',
            field=workflows_app.json_columns.JSONText(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='run',
            name='error',
            field=workflows_app.json_columns.JSONText(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='run',
            name='head',
            field=workflows_app.json_columns.JSONText(blank=True, default=dict, help_text='the snapshot without steps'),
        ),
        migrations.AlterField(
            model_name='run',
            name='input',
            field=workflows_app.json_columns.JSONText(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='run',
            name='result',
            field=workflows_app.json_columns.JSONText(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='run',
            name='state',
            field=workflows_app.json_columns.JSONText(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='run',
            name='step_counts',
            field=workflows_app.json_columns.JSONText(blank=True, default=dict, help_text='steps by status'),
        ),
        migrations.AlterField(
            model_name='snapshot',
            name='data',
            field=workflows_app.json_columns.JSONText(),
        ),
        migrations.AlterField(
            model_name='steprecord',
            name='error',
            field=workflows_app.json_columns.JSONText(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='steprecord',
            name='extra',
            field=workflows_app.json_columns.JSONText(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='steprecord',
            name='output',
            field=workflows_app.json_columns.JSONText(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='steprecord',
            name='payload',
            field=workflows_app.json_columns.JSONText(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='workflowgraph',
            name='graph',
            field=workflows_app.json_columns.JSONText(blank=True, default=dict),
        ),
    ]
