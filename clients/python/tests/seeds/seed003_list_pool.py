# Seed 003 (/work/shared/seeds/003_ca21d7cd52554c5a.txt), section
# "3.使用Manager": a Manager list read and appended to by Pool.starmap, then
# a BaseManager-served class. Verbatim but for the import line (BaseManager
# stays multiprocessing's: mpstore does not serve arbitrary classes).
# seed import: from multiprocessing import Manager
import random
from mpstore import Manager
from multiprocessing.managers import BaseManager
from multiprocessing.pool import Pool


class A:
    def __init__(self, n):
        self.data = list(range(n))

    def get_data(self, index):
        return self.data[index]


class MyManager(BaseManager):
    pass


MyManager.register('A', A)


def f(data, i):
    print('in f(data, {}): id(data) = {}'.format(i, hex(id(data))))
    return data[i]


def g(data, x):
    data.append(x)
    print('in g(data, {}): id(data) = {}, data = {}'.format(x, hex(id(data)), data))


def h(a, i):
    print('in h(a, {}): id(a) = {}'.format(i, hex(id(a))))
    return a.get_data(i)


if __name__ == '__main__':
    with Manager() as manager:
        data = manager.list(range(10))
        print('main: id(data) = {}, data = {}'.format(hex(id(data)), data))

        print('***多进程从列表读数据***')
        args = [(data, random.randrange(10)) for i in range(5)]
        try:
            with Pool() as pool:
                results = pool.starmap(f, args)
            print(results)
        except IndexError as e:
            print('***IndexError: {}***'.format(e))

        print('***多进程向列表写数据***')
        print('main, before: id(data) = {}, data = {}'.format(hex(id(data)), data))
        args = [(data, random.randrange(100, 200)) for i in range(5)]
        with Pool() as pool:
            pool.starmap(g, args)
        print('main, after: id(data) = {}, data = {}'.format(hex(id(data)), data))

    with MyManager() as manager:
        a = manager.A(10)
        print('main: id(a) = {}'.format(hex(id(a))))

        print('***多进程访问类对象***')
        args = [(a, random.randrange(10)) for i in range(5)]
        try:
            with Pool() as pool:
                results = pool.starmap(h, args)
            print(results)
        except IndexError as e:
            print('***IndexError: {}***'.format(e))
