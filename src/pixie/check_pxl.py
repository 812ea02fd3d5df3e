"""Static facts about one PxL script, printed as JSON for scripts.test.ts.

PxL is Python syntax, so Python's own parser reads it (a syntax error fails
here). The report lists, per px.DataFrame call, the table and its select list;
every column the script reads from a dataframe; the columns it creates; the
columns each function returns; the OTel metric names it exports. The test then
checks them against tables.json and manifest.json.

Usage: python3 check_pxl.py SCRIPT.pxl   (or - for standard input)
"""
import ast
import json
import sys

# DataFrame methods and accessors: attribute names that are not columns.
DF_METHODS = {'groupby', 'agg', 'ctx', 'head', 'merge', 'drop', 'filter', 'append', 'stream'}
MODULES = {'px'}


def strings(node):
    """A constant string, or a list/tuple of them, as a list (else [])."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        out = []
        for e in node.elts:
            out.extend(strings(e))
        return out
    return []


def is_px_call(node, *names):
    """node is a call of px.<names[0]>.<names[1]>..."""
    if not isinstance(node, ast.Call):
        return False
    parts = []
    f = node.func
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    return isinstance(f, ast.Name) and f.id == 'px' and list(reversed(parts)) == list(names)


def analyse(source):
    tree = ast.parse(source)
    report = {'selects': [], 'reads': set(), 'derived': set(), 'returns': {}, 'metrics': [],
              'functions': {}, 'errors': []}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            report['functions'][node.name] = [a.arg for a in node.args.args]
            for sub in ast.walk(node):
                if isinstance(sub, ast.Return) and isinstance(sub.value, ast.Subscript):
                    report['returns'][node.name] = strings(sub.value.slice)
        if is_px_call(node, 'DataFrame'):
            kw = {k.arg: k.value for k in node.keywords}
            table = strings(kw.get('table', node.args[0] if node.args else None))
            if 'select' not in kw:
                report['errors'].append('px.DataFrame without select=[...]: columns must be explicit')
            report['selects'].append({'table': table[0] if table else None,
                                      'columns': strings(kw.get('select'))})
        if is_px_call(node, 'otel', 'metric', 'Gauge') or is_px_call(node, 'otel', 'metric', 'Summary'):
            kw = {k.arg: k.value for k in node.keywords}
            report['metrics'].extend(strings(kw.get('name')))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id not in MODULES and node.attr not in DF_METHODS:
            if isinstance(node.ctx, ast.Store):
                report['derived'].add(node.attr)
            else:
                report['reads'].add(node.attr)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id not in MODULES:
            cols = strings(node.slice)
            if isinstance(node.ctx, ast.Store):
                report['derived'].update(cols)
            else:
                report['reads'].update(cols)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == 'groupby':
                for a in node.args:
                    report['reads'].update(strings(a))
            if node.func.attr == 'agg':
                for k in node.keywords:
                    report['derived'].add(k.arg)
                    if isinstance(k.value, ast.Tuple) and k.value.elts:
                        report['reads'].update(strings(k.value.elts[0]))
    selected = {c for s in report['selects'] for c in s['columns']}
    report['unknown'] = sorted(report['reads'] - selected - report['derived'])
    report['reads'] = sorted(report['reads'])
    report['derived'] = sorted(report['derived'])
    return report


if __name__ == '__main__':
    if sys.argv[1] == '-':
        text = sys.stdin.read()
    else:
        with open(sys.argv[1], encoding='utf-8') as f:
            text = f.read()
    try:
        print(json.dumps(analyse(text)))
    except SyntaxError as e:
        print(json.dumps({'syntaxError': f'{e.msg} (line {e.lineno})'}))
        sys.exit(1)
